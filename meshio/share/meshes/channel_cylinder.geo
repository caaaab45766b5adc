// Channel [0, 2.2] x [0, 0.41] with a cylinder of radius 0.05 centred at (0.2, 0.2)
// (the DFG flow-around-a-cylinder benchmark geometry). Tags: 1 inflow, 2 outflow,
// 3 channel walls, 4 cylinder. Mesh size by -setnumber h <size> (default 0.04).
DefineConstant[ h = {0.04, Name "mesh size"} ];
r = 0.05; cx = 0.2; cy = 0.2;
Point(1) = {0, 0, 0, h};
Point(2) = {2.2, 0, 0, h};
Point(3) = {2.2, 0.41, 0, h};
Point(4) = {0, 0.41, 0, h};
Point(5) = {cx, cy, 0, h / 3};
Point(6) = {cx + r, cy, 0, h / 3};
Point(7) = {cx, cy + r, 0, h / 3};
Point(8) = {cx - r, cy, 0, h / 3};
Point(9) = {cx, cy - r, 0, h / 3};
Line(1) = {1, 2};
Line(2) = {2, 3};
Line(3) = {3, 4};
Line(4) = {4, 1};
Circle(5) = {6, 5, 7};
Circle(6) = {7, 5, 8};
Circle(7) = {8, 5, 9};
Circle(8) = {9, 5, 6};
Curve Loop(1) = {1, 2, 3, 4};
Curve Loop(2) = {5, 6, 7, 8};
Plane Surface(1) = {1, 2};
Physical Curve("inflow", 1) = {4};
Physical Curve("outflow", 2) = {2};
Physical Curve("walls", 3) = {1, 3};
Physical Curve("cylinder", 4) = {5, 6, 7, 8};
Physical Surface("fluid", 10) = {1};
