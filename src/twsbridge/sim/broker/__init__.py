"""The simulated broker: orders, matching, executions, commissions, the account and what-if."""
