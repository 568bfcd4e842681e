"""The demo county: loading it, simulating a season, the demo patrol and accounts."""
