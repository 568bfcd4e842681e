"""Assessment points (测评点位): the standards of each point type as data, the register,
inspections against the checklist and each point's compliance.

Between ``issues`` and ``patrol`` in the layer order: a failed checklist item becomes
an issue (issues), and the patrol plan may sample points later.
"""
