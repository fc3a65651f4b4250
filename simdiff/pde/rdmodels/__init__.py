"""Built-in reaction–diffusion models, one per module, registered by name on import."""
from simdiff.pde.rdmodels.brusselator import Brusselator
from simdiff.pde.rdmodels.fisher_kpp import FisherKPP
from simdiff.pde.rdmodels.fitzhugh_nagumo import FitzHughNagumo
from simdiff.pde.rdmodels.gray_scott import GrayScott
from simdiff.pde.rdmodels.oregonator import Oregonator
from simdiff.pde.rdmodels.schnakenberg import Schnakenberg

__all__ = ["GrayScott", "FitzHughNagumo", "Brusselator", "Schnakenberg", "FisherKPP", "Oregonator"]
