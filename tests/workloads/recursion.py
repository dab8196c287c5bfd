"""Plain recursion (fact, fib, a tree walk) and mutual recursion (is_even/is_odd).

Recursive calls are what separates cProfile's total call count from its
primitive call count (the "nc/cc" column), so both must match exactly.
"""


def fact(n):
    if n <= 1:
        return 1
    return n * fact(n - 1)


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def is_even(n):
    if n == 0:
        return True
    return is_odd(n - 1)


def is_odd(n):
    if n == 0:
        return False
    return is_even(n - 1)


def build_tree(depth):
    if depth == 0:
        return None
    return (build_tree(depth - 1), depth, build_tree(depth - 1))


def tree_sum(node):
    if node is None:
        return 0
    left, value, right = node
    return tree_sum(left) + value + tree_sum(right)


def hanoi(n, src, dst, via, moves):
    if n == 0:
        return
    hanoi(n - 1, src, via, dst, moves)
    moves.append((src, dst))
    hanoi(n - 1, via, dst, src, moves)


def main():
    total = 0
    for i in range(1, 25):
        total += fact(i) % 1000
    fibs = [fib(n) for n in range(16)]
    evens = 0
    for n in range(30):
        if is_even(n):
            evens += 1
    odd = is_odd(17)
    tree = build_tree(7)
    moves = []
    hanoi(8, "a", "c", "b", moves)
    print("recursion", total, fibs[-1], sum(fibs), evens, odd, tree_sum(tree), len(moves))


if __name__ == "__main__":
    main()
