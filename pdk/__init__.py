"""The PDKs shipped with layoutgen: one folder of TOML data per PDK."""
