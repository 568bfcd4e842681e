"""Issues: the workflow table, intake by location, actions and their side effects,
extensions, deadlines, photos, lists, back-fill and Open311.
"""
