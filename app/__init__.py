"""TransactFlowOS: a chit-fund platform with a kernel in place of the trusted foreman."""

__version__ = "0.1.0"
