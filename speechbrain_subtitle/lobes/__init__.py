"""Neural network parts (plain ``torch.nn.Module`` classes) wired in YAML."""
