"""TransactFlowOS: a chit-fund platform with a kernel in place of the trusted foreman."""
