"""Accounts from the command line and the demo community (`smile seed`, `smile serve --seed-demo`)."""

from smile.seed.accounts import DEMO_PASSWORD, check_new_user, create_user_sync, seed_people
from smile.seed.run import seed_demo, seed_if_empty

__all__ = ["DEMO_PASSWORD", "check_new_user", "create_user_sync", "seed_demo", "seed_if_empty", "seed_people"]
