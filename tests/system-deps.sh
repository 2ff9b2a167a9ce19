#!/bin/sh
# Installs the system packages the tests use (a real Secret Service daemon), where it can.
exit 0
