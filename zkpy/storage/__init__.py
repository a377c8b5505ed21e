"""zkpy.storage: txn log, snapshots, recovery, retention and offline tools.

Files live where ZooKeeper keeps them: `<dataLogDir>/version-2/log.<first zxid hex>`
and `<dataDir>/version-2/snapshot.<last zxid hex>`; the formats are zkpy's own.

Modules (one job each):
    layout      file names, listing, directory fsync, zxid continuity rule
    logformat   segment/record format and the damage-classifying segment scanner
    txnlog      TxnLog: append-only, preallocated segments, one fdatasync per batch
    committer   group commit for asyncio: ProcessCommitter (default) / Thread / Inline
    fsyncd      the fsync helper process ProcessCommitter starts
    logreader   records after a zxid across segments, continuity checked
    snapformat  snapshot encoding (tree, ACLs, sessions, digest; CRC trailer)
    snapshot    durable write, validity, SnapshotTaker (forked writer)
    snappolicy  snapCount / snapSizeLimit randomised per server
    recovery    recover(): newest valid snapshot + log replay, documented refusals
    truncate    truncate_history(): ZAB TRUNC
    purge       autopurge.snapRetainCount retention
    engine      Storage: the order a member uses all of the above
    verify, describe, cli   `zkpy data log|snapshot|verify|purge`
    errors      StorageError (not durable), CorruptHistoryError (refuse to start)
"""
