"""Questions over Pagila, written as a person would write them for PostgreSQL, each with
the area of the builder it covers. Top-N questions sort on a unique tie-breaker, so their
rows do not depend on the engine's order of ties."""

from __future__ import annotations

QUESTIONS: dict[str, str] = {
    "filter-equals": "SELECT title, length FROM film WHERE rating = 'PG' AND length > 150",
    "filter-in": "SELECT film_id, title FROM film WHERE rating IN ('G', 'NC-17') "
                 "AND rental_duration = 3",
    "filter-not-in": "SELECT count(*) FROM film WHERE rating NOT IN ('G', 'PG', 'R')",
    "filter-like": "SELECT title FROM film WHERE title LIKE 'AC%'",
    "filter-like-underscore": "SELECT first_name, last_name FROM actor "
                              "WHERE last_name LIKE '_A%S'",
    "filter-not-like": "SELECT count(*) FROM customer WHERE email NOT LIKE '%@sakilacustomer.org'",
    "filter-between": "SELECT payment_id, amount FROM payment "
                      "WHERE amount BETWEEN 9.99 AND 11.99 AND customer_id < 50",
    "filter-dates": "SELECT rental_id FROM rental WHERE rental_date >= '2022-07-01' "
                    "AND rental_date < '2022-07-06' AND staff_id = 1",
    "filter-or-tree": "SELECT title FROM film WHERE (rating = 'G' AND length < 50) "
                      "OR (rating = 'R' AND length > 183) OR NOT (rental_rate < 4.99 "
                      "OR replacement_cost < 29.99)",
    "filter-null": "SELECT count(*) FROM rental WHERE return_date IS NULL",
    "filter-not-null-left": "SELECT r.rental_id, r.customer_id FROM rental r "
                            "WHERE r.return_date IS NULL AND r.customer_id < 100",
    "join-two": "SELECT f.title, l.language_id FROM film f JOIN language l "
                "ON l.language_id = f.language_id WHERE f.film_id < 20",
    "join-three-grouped": "SELECT c.name, count(*) AS films FROM category c "
                          "JOIN film_category fc ON fc.category_id = c.category_id "
                          "JOIN film f ON f.film_id = fc.film_id GROUP BY c.name",
    "join-four": "SELECT co.country, count(*) AS customers FROM customer cu "
                 "JOIN address a ON a.address_id = cu.address_id "
                 "JOIN city ci ON ci.city_id = a.city_id "
                 "JOIN country co ON co.country_id = ci.country_id "
                 "GROUP BY co.country HAVING count(*) >= 20",
    "join-actor-films": "SELECT a.first_name, a.last_name, count(fa.film_id) AS films "
                        "FROM actor a JOIN film_actor fa ON fa.actor_id = a.actor_id "
                        "GROUP BY a.first_name, a.last_name, a.actor_id "
                        "HAVING count(fa.film_id) > 35",
    "group-having-sum": "SELECT customer_id, sum(amount) AS total FROM payment "
                        "GROUP BY customer_id HAVING sum(amount) > 190",
    "group-having-avg": "SELECT rating, avg(length) AS avg_length, min(length), max(length) "
                        "FROM film GROUP BY rating HAVING avg(length) > 115",
    "group-two-keys": "SELECT store_id, active, count(*) FROM customer GROUP BY store_id, active",
    "date-bucket-month": "SELECT date_trunc('month', rental_date) AS month, count(*) AS rentals "
                         "FROM rental GROUP BY 1",
    "date-bucket-day-filtered": "SELECT date_trunc('day', payment_date) AS day, sum(amount) "
                                "FROM payment WHERE payment_date < '2022-02-01' GROUP BY 1",
    "count-distinct": "SELECT count(DISTINCT customer_id) AS customers, "
                      "count(DISTINCT inventory_id) AS copies FROM rental",
    "count-distinct-grouped": "SELECT staff_id, count(DISTINCT customer_id) AS customers "
                              "FROM payment GROUP BY staff_id",
    "top-n": "SELECT title, length FROM film ORDER BY length DESC, title LIMIT 10",
    "top-n-offset": "SELECT customer_id, sum(amount) AS total FROM payment "
                    "GROUP BY customer_id ORDER BY total DESC, customer_id LIMIT 5 OFFSET 5",
    "top-n-joined": "SELECT c.first_name, c.last_name, count(*) AS rentals FROM rental r "
                    "JOIN customer c ON c.customer_id = r.customer_id "
                    "GROUP BY c.customer_id, c.first_name, c.last_name "
                    "ORDER BY rentals DESC, c.customer_id LIMIT 10",
    "left-join-missing": "SELECT f.film_id, f.title FROM film f "
                         "LEFT JOIN inventory i ON i.film_id = f.film_id "
                         "WHERE i.inventory_id IS NULL",
    "left-join-count": "SELECT f.title, count(i.inventory_id) AS copies FROM film f "
                       "LEFT JOIN inventory i ON i.film_id = f.film_id "
                       "WHERE f.film_id <= 40 GROUP BY f.film_id, f.title",
    "computed": "SELECT title, rental_rate * rental_duration AS full_price FROM film "
                "WHERE rental_rate * rental_duration > 20",
    "computed-functions": "SELECT upper(first_name) AS first, length(last_name) AS n "
                          "FROM actor WHERE lower(last_name) = 'guiness'",
    "distinct": "SELECT DISTINCT rating FROM film WHERE length > 180",
    "two-condition-join": "SELECT count(*) FROM rental r JOIN payment p "
                          "ON p.rental_id = r.rental_id AND p.customer_id = r.customer_id "
                          "WHERE p.amount > 9",
}

#: SQL the builder does not take, with the words it answers (README lists them)
NOT_TAKEN: dict[str, str] = {
    "SELECT title FROM film WHERE film_id IN (SELECT film_id FROM inventory)": "subqueries",
    "WITH t AS (SELECT 1) SELECT * FROM t": "WITH",
    "SELECT title FROM film UNION SELECT name FROM category": "UNION",
    "SELECT title, rank() OVER (ORDER BY length) FROM film": "window functions",
    "SELECT * FROM film JOIN language USING (language_id)": "USING",
    "SELECT * FROM film f, language l WHERE f.language_id = l.language_id": "FROM",
    "SELECT * FROM film WHERE length > rental_duration": "two columns",
    "SELECT f.* FROM film f": "table.*",
    "SELECT title FROM film WHERE title ILIKE 'ac%'": "ILIKE",
    "SELECT rating, title FROM film GROUP BY rating": "neither in GROUP BY",
    "DELETE FROM film": "only SELECT",
}
