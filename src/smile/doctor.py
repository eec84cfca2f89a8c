"""`smile doctor` (filled in by the operations work)."""


def run_checks(console) -> int:
    console.print("doctor: not implemented yet")
    return 1
