"""Scoring: rules as data, pure scores, indicators, triggers, the scoring service,
bulletins and the feeds other features read.
"""
