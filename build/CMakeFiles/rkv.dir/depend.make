# Empty dependencies file for rkv.
# This may be replaced when dependencies are built.
