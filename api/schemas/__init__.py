"""The API's pydantic models, one module per feature.

* ``common`` — problem details, the declared error responses, object ids;
* ``issues`` — the issue API (and the GeoJSON layers it serves);
* ``maps`` — the map layers (GeoJSON), hexbins and heat points;
* ``patrol``, ``scoring``, ``auth`` — those features' models.

Everything is re-exported here, so ``from civgrid.api.schemas import X`` works.
"""

from civgrid.api.schemas.auth import *  # noqa: F403
from civgrid.api.schemas.common import *  # noqa: F403
from civgrid.api.schemas.issues import *  # noqa: F403
from civgrid.api.schemas.maps import *  # noqa: F403
from civgrid.api.schemas.patrol import *  # noqa: F403
from civgrid.api.schemas.points import *  # noqa: F403
from civgrid.api.schemas.responsibility import *  # noqa: F403
from civgrid.api.schemas.scoring import *  # noqa: F403
from civgrid.api.schemas.shops import *  # noqa: F403
