from ledger import create_app

app = create_app()
