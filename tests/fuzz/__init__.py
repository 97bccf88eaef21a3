"""Fuzzing of the two decoders: the client's (frames from TWS) and the simulator's
(requests from clients). :mod:`.corpus` builds the seed frames and the mutations;
``fuzz/`` at the repository root runs the long campaigns (a million frames, atheris)."""
