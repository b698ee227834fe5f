"""Analyses over a checked program: generated counterexamples (verify) and static overlap (lint)."""
