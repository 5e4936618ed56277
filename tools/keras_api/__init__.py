"""Extract the public API of Keras packages and diff it (used by tools/gen_api_drift.py).

``static`` reads an unpacked old package with ``ast`` (old Keras is never imported),
``installed`` inspects the installed Keras 3, ``diff`` turns both into the tables the rules
read (kerascheck/knowledge/api_drift.json).
"""
