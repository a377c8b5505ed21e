"""ZooKeeper wire format: jute primitives, records, opcodes, error codes, framing.

No behaviour lives here, and nothing here imports the rest of zkpy.
"""
