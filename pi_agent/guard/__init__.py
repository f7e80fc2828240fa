"""The guard's judgement: trading days and cutoffs (and, to come, policy and settlement)."""
