# Empty dependencies file for rkv_core.
# This may be replaced when dependencies are built.
