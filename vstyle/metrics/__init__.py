"""Quality metrics for stylised video: temporal warping error, SSIM, style and content distances.

Pure functions on numpy arrays (and one frozen feature network); no files, no models under test.
"""
