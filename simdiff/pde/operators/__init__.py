"""Diffusion operators: compiled stencils (``stencils``), their numpy references (``reference``),
sparse matrices for implicit methods (``sparse``), and the parameter packing the stencils read."""
