# smc holds no tables. This module exists because Django sends post_migrate only to
# apps with a models module, and smc.apps grants the app role its rights there.
