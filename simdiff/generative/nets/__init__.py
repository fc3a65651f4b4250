"""Networks for generative diffusion: MLP for vector data, UNet for images."""
