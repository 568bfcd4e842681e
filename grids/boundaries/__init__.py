"""Boundaries: typed areas in generations, road sections, key sites, units, leaders,
assignments, the snap index, routing rules, imports and exports.
"""
