"""The student stubs, one file per lesson (copied out by `python -m neurophys exercises NN`)."""
