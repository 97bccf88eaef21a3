"""Reference data of the simulated TWS: instruments, contract details and the exchange calendar."""
