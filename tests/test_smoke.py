def test_money_path_end_to_end(ledger):
    world = ledger.approved("100000.00")
    assert world["request"]["status"] == "approved"
    paid = ledger.disburse(world["request"]["id"], "40000.00")
    assert paid["amount"] == "40000.00"
    position = ledger.position(world["fund"]["id"])
    assert position["base"]["disbursed"] == "40000.00"
    assert ledger.trial_balance(world["fund"]["id"])["balanced"] is True
