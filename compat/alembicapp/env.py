from alembic import context
from sqlalchemy import create_engine

import models

url = context.config.get_main_option("sqlalchemy.url")
with create_engine(url).connect() as connection:
    context.configure(connection=connection, target_metadata=models.metadata,
                      include_name=models.include_name)
    with context.begin_transaction():
        context.run_migrations()
