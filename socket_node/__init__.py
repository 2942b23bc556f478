"""The socket node: live rooms over WebSocket, the lifecycle ticker and the job worker, in one
asyncio process that shares nothing with its siblings but Redis."""
