"""Request security: rate limits, the hoarding budget, the captcha, request shape checks."""
