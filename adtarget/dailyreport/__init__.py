"""The daily HTML statistics report: the day's figures from every system, one page, one mail."""
