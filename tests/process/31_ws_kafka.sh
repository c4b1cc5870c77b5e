#!/usr/bin/env bash
# 31_ws_cluster.sh with the Kafka backend of the bus (librdkafka's mock
# cluster): a push crosses "pods" through the relay and per-instance
# consumer groups, exactly as with the embedded backend.
WS_BUS=kafka exec bash "$(dirname "$0")/31_ws_cluster.sh"
