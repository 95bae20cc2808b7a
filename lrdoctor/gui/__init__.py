"""The desktop app (Qt). It presents what the library computes and holds no analysis logic."""
