"""Built-in reaction–diffusion models, one per module, registered by name on import."""
from simdiff.pde.models.brusselator import Brusselator
from simdiff.pde.models.fisher_kpp import FisherKPP
from simdiff.pde.models.fitzhugh_nagumo import FitzHughNagumo
from simdiff.pde.models.gray_scott import GrayScott
from simdiff.pde.models.oregonator import Oregonator
from simdiff.pde.models.schnakenberg import Schnakenberg

__all__ = ["GrayScott", "FitzHughNagumo", "Brusselator", "Schnakenberg", "FisherKPP", "Oregonator"]
