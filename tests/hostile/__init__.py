"""Hostile input: a generator of bad specs, secret files, outputs and options, run through the
CLI in a subprocess under an address-space cap and a time limit (a regression fails the test,
it cannot take the machine down)."""
