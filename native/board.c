/* Board helpers that do not depend on the driver. */
#include <stddef.h>

#include "board.h"

void board_free(board_t *b)
{
    if (b != NULL)
        b->ops->free(b);
}
