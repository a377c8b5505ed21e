"""zkpy: a ZooKeeper-compatible coordination service, client library, shell and launcher."""

__version__ = "0.1.0"
# The ZooKeeper protocol version we speak (srvr/mntr report it beside our own).
ZOOKEEPER_COMPAT_VERSION = "3.8.0"
