"""The cells only this family draws."""
