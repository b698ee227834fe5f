"""Hypothesis property tests. A package only so that test module basenames may repeat those in tests/."""
