"""Files: HDF5 run files, atomic writes."""
from simdiff.io.atomic import atomic_write
from simdiff.io.hdf5 import RunFile, read_run

__all__ = ["atomic_write", "RunFile", "read_run"]
