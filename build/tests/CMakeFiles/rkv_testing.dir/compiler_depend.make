# Empty compiler generated dependencies file for rkv_testing.
# This may be replaced when dependencies are built.
