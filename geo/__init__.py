"""Pure geometry: CRS and Chinese offsets, the snap index, validation and file IO.

Nothing here touches a database or the web, and nothing imports another civgrid
package.
"""
