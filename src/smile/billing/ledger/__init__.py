"""The double-entry ledger: accounts, transactions of zero-sum entries, holds."""
