"""`make demo`: differentiate a NumPy function, print its gradient and the generated adjoint.

The function is the first computation of the PyTorch autograd tutorial the seed
notes follow: out = mean(3 (x + 2)^2) at x = ones(2, 2), whose gradient is 4.5 everywhere.
"""
import numpy as np

import srcdiff


@srcdiff.grad
def loss(x):
    y = x + 2
    z = y * y * 3
    return z.mean()


if __name__ == "__main__":
    x = np.ones((2, 2))
    g = loss(x)
    print("x =", x.tolist())
    print("gradient of mean(3 (x + 2)^2) =", g.tolist())
    print(f"mode={loss.mode!r} jitted={loss.jitted} (Numba-compiled)")
    print("check against finite differences: max error", srcdiff.check_grad(loss.fun, x))
    print("\nThe IR (three-address form, one statement a line):\n")
    print(loss.ir)
    print("\nThe generated module (primal, forward, backward, grad):\n")
    print(loss.source)
