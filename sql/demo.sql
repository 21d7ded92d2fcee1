-- Demo data: three items, one of them the last one.
-- ON CONFLICT DO NOTHING keeps the stock a previous run left behind, so
-- loading this again (every `make run` does) changes nothing that exists.

INSERT INTO lastitem.items (id, name, description, image_url, quantity, initial_quantity)
VALUES
    ('charizard-1st-ed', '1st Edition Charizard',
     'A holographic 1999 first-edition card. There is exactly one left.',
     '/img/charizard.svg', 1, 1),
    ('golden-ticket', 'Golden Ticket',
     'Entry to the factory tour. Five were printed.',
     '/img/golden-ticket.svg', 5, 5),
    ('launch-hoodie', 'Launch-day Hoodie',
     'The limited run from launch day, fifty of them.',
     '/img/launch-hoodie.svg', 50, 50)
ON CONFLICT (id) DO NOTHING;
