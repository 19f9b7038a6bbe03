"""The fault suite: scenarios run against real processes (`python -m faults`, `make faults`)."""
